/**
 * A restore that stopped half way (error, Ctrl-C, lost connection): what the target holds and
 * how to finish, per kind, as the restore code behaves (lib/restore/): temporary files and
 * decrypted data are removed on any failure or interrupt; what was written to a live target
 * stays, and each kind has a mode that resumes or starts over without duplicates.
 */
import type { Ctx } from "../context";
import type { Scenario } from "./scenario";

function body(_c: Ctx): string[] {
  return [
    "A failed or interrupted `drposture restore` (exit 1, or 130 on Ctrl-C) stops its child processes and deletes its temporary and decrypted files; paused D1 triggers are recreated. What the **target** holds depends on the kind. Do not switch traffic to a partly restored target.",
    "",
    "| Kind | Target after a stop | To finish |",
    "| --- | --- | --- |",
    "| `d1` into `file:X.sql` | no file: the script is written under a temporary name and renamed only when complete | run the same restore again |",
    "| `wrangler d1 execute --file X.sql` stopped | the database may hold part of the rows | regenerate the script with `--mode skip` (it creates what is missing with `IF NOT EXISTS` and inserts rows with `ON CONFLICT DO NOTHING`) into a new file and execute it: rows already there are skipped |",
    "| `d1`/`kv`/`r2` into `local:` | the batches written so far (each D1 batch is one transaction) | the same restore with `--mode skip` |",
    "| `kv` into `file:X.json` | no file (written under a temporary name, renamed when complete) | run the same restore again |",
    "| `wrangler kv bulk put X.json` stopped | some keys written, with the backup's values | run the same `bulk put` again: it writes the same values |",
    "| `r2` into a bucket | the objects written so far, each complete (a put is atomic); a failed object does not stop the others, and the restore exits 1 listing every key that failed | the same restore with `--mode skip`: only missing objects are written |",
    "| `postgres` | pg_restore stopped: some tables, maybe without their rows, indexes or constraints | fix the cause (the message names it), then restore again with `--mode clear` (drops and recreates the backup's objects), or into a new empty database. `--mode skip` is refused: pg_restore cannot merge |",
    "| `neon` in place | the restore runs at Neon: if `--neon-wait` ran out (exit 1, naming the operation ids), Neon is still working | wait for the operations in the Neon console; do not start another restore meanwhile. The state before it is the `pre-restore-...` branch |",
    "| `neon --new-branch` | a branch may exist: the name in use is refused next time | delete it in the Neon console, or run again with a new `--new-branch` name |",
    "",
    "Then the checks in *After every restore* (counts against the manifest: `drposture list --json`) before the target takes traffic.",
    "",
  ];
}

export const partialRestore: Scenario = { slug: "partial-restore", title: "partial restore (stopped half way)", body };
