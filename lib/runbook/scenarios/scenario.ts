/** A runbook scenario: a stable slug (`drposture runbook --scenario SLUG`), a title, its body. */
import type { Ctx } from "../context";

export interface Scenario {
  /** Stable: operators and links use it; never rename one. */
  readonly slug: string;
  readonly title: string;
  readonly body: (c: Ctx) => string[];
}

export function renderScenario(s: Scenario, c: Ctx): string[] {
  return [`## Scenario: ${s.title}`, "", `\`drposture runbook --scenario ${s.slug}\``, "", ...s.body(c)];
}
