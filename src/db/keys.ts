// Key ranges over the [projectId, sampleId] compound keys shared by the per-sample stores.
export function projectRange(projectId: string): IDBKeyRange {
  // Sample ids are lowercase hex, so '\uffff' sorts after every one of them.
  return IDBKeyRange.bound([projectId, ''], [projectId, '\uffff']);
}
