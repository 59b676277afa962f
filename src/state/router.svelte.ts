// Hash routes: #/ (projects) and #/p/<projectId>/<stage>. Hash routing works offline and
// from the service worker without any server rewrite rules.
export const STAGES = ['data', 'label', 'train', 'tune', 'models', 'deploy', 'monitor', 'pipeline'] as const;
export type Stage = (typeof STAGES)[number];

export type Route = { name: 'projects' } | { name: 'project'; projectId: string; stage: Stage };

function parse(hash: string): Route {
  const m = /^#\/p\/([^/]+)(?:\/([a-z]+))?/.exec(hash);
  if (m) {
    const stage = (STAGES as readonly string[]).includes(m[2] ?? '') ? (m[2] as Stage) : 'data';
    return { name: 'project', projectId: decodeURIComponent(m[1]), stage };
  }
  return { name: 'projects' };
}

class Router {
  route = $state<Route>(parse(location.hash));

  constructor() {
    addEventListener('hashchange', () => (this.route = parse(location.hash)));
  }

  go(route: Route): void {
    location.hash = route.name === 'projects' ? '#/' : `#/p/${encodeURIComponent(route.projectId)}/${route.stage}`;
  }
}

export const router = new Router();
