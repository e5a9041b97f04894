import { InvalidArgumentError } from './errors';
import { matchesLabelFilters, parseLabelFilter } from './label-filter';

describe('label filters', () => {
  it('parses key and key=value, keeping any = after the first in the value', () => {
    expect(parseLabelFilter('app')).toEqual(['app', undefined]);
    expect(parseLabelFilter('app=web')).toEqual(['app', 'web']);
    expect(parseLabelFilter('app=')).toEqual(['app', '']);
    expect(parseLabelFilter('expr=a=b')).toEqual(['expr', 'a=b']);
  });

  it('refuses an empty key, naming the field', () => {
    expect(() => parseLabelFilter('=web')).toThrow(InvalidArgumentError);
    expect(() => parseLabelFilter('=web')).toThrow(expect.objectContaining({ violations: [{ field: 'label', message: 'empty key' }] }));
  });

  it('needs the key for a bare filter, and the same value for key=value', () => {
    const labels = { app: 'web', tier: '' };
    expect(matchesLabelFilters(labels, [['app', undefined]])).toBe(true);
    expect(matchesLabelFilters(labels, [['tier', undefined]])).toBe(true);
    expect(matchesLabelFilters(labels, [['app', 'web']])).toBe(true);
    expect(matchesLabelFilters(labels, [['app', 'db']])).toBe(false);
    expect(matchesLabelFilters(labels, [['env', undefined]])).toBe(false);
  });

  it('needs every filter to pass, and passes everything with none', () => {
    expect(matchesLabelFilters({ app: 'web' }, [])).toBe(true);
    expect(
      matchesLabelFilters({ app: 'web', tier: 'front' }, [
        ['app', 'web'],
        ['tier', 'front'],
      ]),
    ).toBe(true);
    expect(
      matchesLabelFilters({ app: 'web' }, [
        ['app', 'web'],
        ['tier', undefined],
      ]),
    ).toBe(false);
  });
});
