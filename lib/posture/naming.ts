/**
 * Physical names the components give resources, derived from the project and stack: used by
 * DisasterRecovery to name them and by the runbook to print them (a test checks both agree
 * with what the program registers).
 */
export function namePrefix(project: string, stack: string): string {
  return `drp-${project}-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 40);
}

export function resourceNames(project: string, stack: string) {
  const prefix = namePrefix(project, stack);
  return {
    prefix,
    worker: `${prefix}-backup`,
    writer: `${prefix}-writer`,
    verifier: `${prefix}-verifier`,
    restorer: `${prefix}-restorer`,
    alertTopic: `${prefix}-alerts`,
    /** Scratch D1 database, KV namespace title and R2 bucket restore tests write into: the stack
     * and "restore-scratch" in the name, so nobody takes them for production data. */
    restoreScratch: `${prefix}-restore-scratch`,
    /** Prefix of the key-escrow secrets: one secret per data-encryption key, named
     * `<prefix>/<keyId>`, so a rebuilt stack (a new key) never collides with the secret kept
     * from the one it replaces. */
    escrowSecret: `drposture/${stack}/data-encryption-key`,
  };
}
