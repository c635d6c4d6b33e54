//! Which screen a path opens: the SPA's only router (the server serves index.html for all of them).

export type Route =
  | { screen: 'home' }
  | { screen: 'join'; code: string }
  | { screen: 'participant'; wid: string }
  | { screen: 'projector'; wid: string }
  | { screen: 'facilitator'; wid: string }
  | { screen: 'notFound' };

/** Workshop ids follow the doc-id alphabet without the '.' that separates board ids. */
const WID = '([A-Za-z0-9_-]{1,128})';

export function parseRoute(pathname: string, search = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { screen: 'home' };
  if (path === '/rejoindre') {
    const code = new URLSearchParams(search).get('code') ?? '';
    return { screen: 'join', code };
  }
  let m = new RegExp(`^/w/${WID}$`).exec(path);
  if (m?.[1]) return { screen: 'participant', wid: m[1] };
  m = new RegExp(`^/w/${WID}/ecran$`).exec(path);
  if (m?.[1]) return { screen: 'projector', wid: m[1] };
  m = new RegExp(`^/w/${WID}/animer$`).exec(path);
  if (m?.[1]) return { screen: 'facilitator', wid: m[1] };
  return { screen: 'notFound' };
}

export function participantPath(wid: string): string {
  return `/w/${wid}`;
}
export function projectorPath(wid: string): string {
  return `/w/${wid}/ecran`;
}
export function facilitatorPath(wid: string): string {
  return `/w/${wid}/animer`;
}
