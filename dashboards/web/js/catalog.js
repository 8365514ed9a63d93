// The domain data the app labels things with, from the hub (GET /api/v1/catalog): each metric's
// name in both languages and its unit, the metrics the area tools offer, the titles of the kinds
// of rules; and the rules in force (GET /api/v1/rules), so that an alert can say what its value
// measures (a 72-hour total, a 1-hour mean). Loaded once after sign-in, before the views are
// built; a hub that does not answer leaves the ids to stand for themselves.

import { api } from './api.js';

let metrics = new Map();
let areaMetricNames = [];
let ruleKinds = [];
let rules = new Map();

export async function loadCatalog() {
  const [c, r] = await Promise.all([
    api('/api/v1/catalog').catch(() => null),
    api('/api/v1/rules').catch(() => null),
  ]);
  metrics = new Map((c?.metrics || []).map((m) => [m.name, m]));
  areaMetricNames = c?.area_metrics || [];
  ruleKinds = c?.rule_kinds || [];
  rules = new Map((Array.isArray(r) ? r : []).map((x) => [x.id, x]));
}

/** A rule in force when the app loaded ({id, kind, metric, definition, …}), else undefined. */
export function ruleInfo(id) { return rules.get(id); }

/** {name, unit, min, max, label: {vi, en}} of a metric the hub knows, else undefined. */
export function metricInfo(name) { return metrics.get(name); }

/** The metric names the area tools offer, in order. */
export function areaMetrics() { return areaMetricNames; }

/** {vi, en}: the title of the first rule kind whose prefix starts the rule's id, else undefined. */
export function ruleTitle(rule) {
  return ruleKinds.find((k) => (rule || '').startsWith(k.prefix))?.label;
}
