// The order to try a model's routes in: priority first (fallback), weighted random among equal priority (balance).
import type { RouteTarget } from "../contracts.ts";

/**
 * `routes` arrive sorted by priority. Within a run of equal priority we draw a weighted random order
 * (Efraimidis–Spirakis: sort by -ln(u)/weight), so a route of weight 3 goes first three times as often as one of
 * weight 1 and the rest still follow as fallbacks; weight 0 goes last. A single route is returned as is.
 */
export function orderRoutes(routes: readonly RouteTarget[], random: () => number = Math.random): readonly RouteTarget[] {
  if (routes.length < 2) return routes;
  let ordered: RouteTarget[] | null = null;
  let start = 0;
  while (start < routes.length) {
    let end = start + 1;
    while (end < routes.length && routes[end]!.priority === routes[start]!.priority) end++;
    if (end - start > 1) {
      ordered ??= routes.slice();
      const run = routes.slice(start, end).map((route) => ({ route, key: drawKey(route.weight, random) }));
      run.sort((a, b) => a.key - b.key);
      for (let i = 0; i < run.length; i++) ordered[start + i] = run[i]!.route;
    }
    start = end;
  }
  return ordered ?? routes;
}

function drawKey(weight: number, random: () => number): number {
  if (!(weight > 0)) return Number.POSITIVE_INFINITY;
  return -Math.log(1 - random()) / weight;
}
