import { InvalidArgumentError } from './errors';

/** A label filter: the key, and the value it must have (any value when undefined). */
export type LabelFilter = [key: string, value: string | undefined];

/** `key` or `key=value`, as `docker ps --filter label=…` takes them. */
export function parseLabelFilter(filter: string): LabelFilter {
  const eq = filter.indexOf('=');
  if (eq === 0) throw new InvalidArgumentError('label filters look like key or key=value', [{ field: 'label', message: 'empty key' }]);
  return eq < 0 ? [filter, undefined] : [filter.slice(0, eq), filter.slice(eq + 1)];
}

/** Whether labels pass every filter. */
export function matchesLabelFilters(labels: Record<string, string>, filters: readonly LabelFilter[]): boolean {
  return filters.every(([k, v]) => k in labels && (v === undefined || labels[k] === v));
}
