/**
 * backup-frequency-meets-rpo computes the longest gap of an every-day cron from the minutes of
 * the day (dailyGap) instead of stepping cron-parser through a week: for any such cron (or set
 * of crons) both give the same gap, and crons that do not fire alike every day are not taken.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dailyGap, longestGapByStepping } from "../../policies/src/frequency";
import { propertyParams } from "../helpers/propertySeed";

// One cron field over [0, max]: "*", a step "*\/n", a value, a range, a stepped range, or a list.
function field(max: number): fc.Arbitrary<string> {
  const value = fc.integer({ min: 0, max });
  const range = fc.tuple(value, value).map(([a, b]) => (a <= b ? `${a}-${b}` : `${b}-${a}`));
  const part = fc.oneof(
    fc.constant("*"),
    fc.integer({ min: 1, max: max + 1 }).map((n) => `*/${n}`),
    value.map(String),
    range,
    fc.tuple(range, fc.integer({ min: 1, max: 30 })).map(([r, n]) => `${r}/${n}`),
  );
  return fc.oneof(part, fc.array(part, { minLength: 2, maxLength: 3 }).map((ps) => (ps.includes("*") ? "*" : ps.join(","))));
}

const everyDay = fc.tuple(field(59), field(23)).map(([m, h]) => `${m} ${h} * * *`);

describe("the longest gap of an every-day cron", () => {
  /** The gap, or the parse error (cron-parser refuses e.g. a list with duplicate values). */
  const outcome = (gap: (crons: string[]) => number | null, crons: string[]) => {
    try {
      return gap(crons);
    } catch (err) {
      return `throws: ${(err as Error).message}`;
    }
  };

  it("equals the gap found by stepping through the week (or both refuse the cron alike)", () => {
    fc.assert(
      fc.property(fc.array(everyDay, { minLength: 1, maxLength: 2 }), (crons) => {
        expect(outcome(dailyGap, crons)).toBe(outcome(longestGapByStepping, crons));
      }),
      propertyParams(40),
    );
  });

  it.each(["0 3 * * 1-5", "0 0 1 * *", "0 0 * 1 *", "*/15 * * * 0", "0 0 13,14 1 *", "*/30 * * * * *"])("is not taken for %s (not alike every day, or seconds)", (cron) => {
    expect(dailyGap([cron])).toBeNull();
    expect(dailyGap(["0 * * * *", cron])).toBeNull();
  });
});
