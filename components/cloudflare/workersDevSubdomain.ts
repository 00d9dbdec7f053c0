/**
 * Prints the account's workers.dev subdomain ("acme" of https://SCRIPT.acme.workers.dev); run by
 * the BackupWorker component's command at `pulumi up`. @pulumi/cloudflare 6.22.1 has no data
 * source for it (WorkersScriptSubdomain only turns a script's workers.dev route on or off), so
 * this asks Cloudflare's API: GET /accounts/{account_id}/workers/subdomain, which answers
 * {"result": {"subdomain": "..."}} (Workers Scripts Read suffices). The credential is the one
 * the Cloudflare provider itself uses, CLOUDFLARE_API_TOKEN from `pulumi up`'s environment; it
 * never passes through Pulumi state. Input: CLOUDFLARE_ACCOUNT_ID, optionally CLOUDFLARE_API_URL.
 */
export const CLOUDFLARE_API_URL = "https://api.cloudflare.com/client/v4";

export class WorkersSubdomainError extends Error {
  override readonly name = "WorkersSubdomainError";
}

export async function workersDevSubdomain(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const account = env.CLOUDFLARE_ACCOUNT_ID;
  const token = env.CLOUDFLARE_API_TOKEN;
  if (!account) throw new WorkersSubdomainError("CLOUDFLARE_ACCOUNT_ID is not set");
  if (!token) throw new WorkersSubdomainError("CLOUDFLARE_API_TOKEN is not set: the backup Worker's workers.dev URL is read with the token `pulumi up` uses for Cloudflare");
  const base = env.CLOUDFLARE_API_URL ?? CLOUDFLARE_API_URL;
  const res = await fetch(`${base}/accounts/${encodeURIComponent(account)}/workers/subdomain`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => null)) as { success?: boolean; result?: { subdomain?: unknown }; errors?: Array<{ message?: string }> } | null;
  const subdomain = body?.result?.subdomain;
  const why = body?.errors?.map((e) => e.message).join("; ") || `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) throw new WorkersSubdomainError(`Cloudflare refused to tell account ${account}'s workers.dev subdomain (${why}): CLOUDFLARE_API_TOKEN needs Workers Scripts Read on the account`);
  if (!res.ok || typeof subdomain !== "string" || !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(subdomain)) {
    throw new WorkersSubdomainError(`account ${account} has no workers.dev subdomain (${why}); claim one in the dashboard (Workers & Pages > Your subdomain), then run pulumi up again`);
  }
  return subdomain;
}

if (require.main === module) {
  workersDevSubdomain().then(
    (s) => process.stdout.write(s),
    (err: Error) => {
      process.stderr.write(`workers.dev subdomain: ${err.message}\n`);
      process.exit(1);
    },
  );
}
