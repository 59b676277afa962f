// The kit's Python, shipped inside the zip as text (Vite's ?raw): paths inside the kit -> source.
import trainPy from './python/train.py?raw';
import initPy from './python/trainyard_kit/__init__.py?raw';
import augmentPy from './python/trainyard_kit/augment.py?raw';
import convertPy from './python/trainyard_kit/convert.py?raw';
import jobPy from './python/trainyard_kit/job.py?raw';
import modelsPy from './python/trainyard_kit/models.py?raw';
import schedulePy from './python/trainyard_kit/schedule.py?raw';

export const KIT_PYTHON_FILES: Readonly<Record<string, string>> = {
  'train.py': trainPy,
  'trainyard_kit/__init__.py': initPy,
  'trainyard_kit/augment.py': augmentPy,
  'trainyard_kit/convert.py': convertPy,
  'trainyard_kit/job.py': jobPy,
  'trainyard_kit/models.py': modelsPy,
  'trainyard_kit/schedule.py': schedulePy,
};
