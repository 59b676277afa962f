"""The app's bookkeeping around early stopping (src/lib/ml/train-loop.ts), rule for rule:
an epoch improves when its monitored loss is below the best so far; after every `patience` epochs
in a row without improvement the learning rate is multiplied by `factor` (never below
minLearningRate); training stops after earlyStoppingPatience epochs without improvement."""


class EarlyStopping:
    def __init__(self, patience, plateau, learning_rate, best=float('inf'), since_best=0):
        self.patience = patience  # 0 = off
        self.plateau = plateau if patience else None
        self.rate = learning_rate
        self.best = best
        self.since_best = since_best

    def update(self, monitored):
        """One finished epoch: returns (improved, stop). NaN never improves."""
        if monitored < self.best:
            self.best, self.since_best = monitored, 0
            return True, False
        self.since_best += 1
        if self.plateau and self.since_best % self.plateau['patience'] == 0:
            self.rate = max(self.plateau['minLearningRate'], self.rate * self.plateau['factor'])
        return False, bool(self.patience) and self.since_best >= self.patience
