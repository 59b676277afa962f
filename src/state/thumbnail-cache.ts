// Object URLs for thumbnails, loaded from IndexedDB on demand and evicted least-recently-used,
// so scrolling 20,000 samples never holds more than a few hundred images in memory.
import { getThumbnail } from '../db/samples';

const LIMIT = 600;
const urls = new Map<string, Promise<string | null>>();

export function thumbnailUrl(projectId: string, id: string): Promise<string | null> {
  const key = `${projectId}/${id}`;
  const hit = urls.get(key);
  if (hit) {
    urls.delete(key); // re-insert: Map order is the LRU order
    urls.set(key, hit);
    return hit;
  }
  const loading = getThumbnail(projectId, id).then((r) => (r ? URL.createObjectURL(new Blob([r.data], { type: r.mime })) : null));
  urls.set(key, loading);
  while (urls.size > LIMIT) {
    const [oldKey, oldUrl] = urls.entries().next().value!;
    urls.delete(oldKey);
    void oldUrl.then((u) => u && URL.revokeObjectURL(u));
  }
  return loading;
}
