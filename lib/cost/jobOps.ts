/**
 * Storage operations one backup job costs the backup bucket (R2), the S3 copy and the queue,
 * whatever the asset kind, read from worker/engine/runner.ts and replication.ts:
 *  start      R2 GET job state, GET latest pointer (+ the kind's own reads), PUT job state, 1 message
 *  each step  R2 GET job state, GET manifest key (not there yet), PUT artifacts; PUT state + 1 message unless last
 *  commit     findLatest: GET pointer + GET manifest + LIST daily/weekly/monthly; PUT manifest, PUT latest;
 *             planReplication: GET manifest + one S3 LIST per dependency; PUT state + 1 message
 *  replicate  per step: R2 GET state + GET manifest, S3 LIST (presentOn), per artifact R2 GET + S3 PUT(s);
 *             S3 PUT manifest last; PUT state + 1 message unless last (the state is then deleted: free)
 *  each task  (worker/engine/tasks.ts) R2 PUT its input (listing step), GET job state, HEAD its
 *             record, GET input, PUT artifacts, PUT record; adoption GET record; DELETEs (free);
 *             1 message
 * An upload over the part size is a multipart upload: create + parts + complete.
 */
export interface ArtifactGroup {
  readonly count: number;
  /** Ciphertext bytes of each artifact of the group. */
  readonly bytes: number;
}

export interface JobShape {
  readonly steps: number;
  readonly artifacts: readonly ArtifactGroup[];
  /** R2 GETs the kind makes of earlier backups (base manifest, its index or inventory). */
  readonly kindReads: number;
  /** Backups this one depends on (checked on S3 before the copy). */
  readonly dependencies: number;
  /** Parallel tasks the job fans out (KV pages), each its own queue invocation. */
  readonly tasks?: number;
}

export interface JobOps {
  readonly r2ClassA: number;
  readonly r2ClassB: number;
  readonly queueMessages: number;
  readonly s3Put: number;
  readonly s3List: number;
  /** Queue invocations of the job (one step each; batch size 1). */
  readonly invocations: number;
  readonly replicationSteps: number;
}

export const putRequests = (bytes: number, partBytes: number) => (bytes <= partBytes ? 1 : 2 + Math.ceil(bytes / partBytes));

/** Replication steps: artifacts copied until 2 + Σ(1 + S3 requests) would pass opsPerStep or the
 * bytes bytesPerStep (the first artifact of a step always goes). */
export function replicationSteps(artifacts: readonly ArtifactGroup[], opsPerStep: number, bytesPerStep: number, partBytes: number): number {
  let steps = 1;
  let ops = 2;
  let bytes = 0;
  for (const g of artifacts) {
    const cost = 1 + putRequests(g.bytes, partBytes);
    let left = g.count;
    while (left > 0) {
      const byOps = Math.floor((opsPerStep - ops) / cost);
      const byBytes = g.bytes > 0 ? Math.floor((bytesPerStep - bytes) / g.bytes) : left;
      const fit = Math.min(left, Math.max(0, Math.min(byOps, byBytes)));
      const first = ops === 2 && bytes === 0 && fit === 0 ? 1 : fit;
      left -= first;
      ops += first * cost;
      bytes += first * g.bytes;
      if (left > 0) {
        steps++;
        ops = 2;
        bytes = 0;
      }
    }
  }
  return steps;
}

export function jobOps(shape: JobShape, o: { s3: boolean; opsPerStep: number; bytesPerStep: number; partBytes: number }): JobOps {
  const artifactCount = shape.artifacts.reduce((n, g) => n + g.count, 0);
  const artifactPuts = shape.artifacts.reduce((n, g) => n + g.count * putRequests(g.bytes, o.partBytes), 0);
  const S = Math.max(1, shape.steps);
  const R = o.s3 ? replicationSteps(shape.artifacts, o.opsPerStep, o.bytesPerStep, o.partBytes) : 0;
  const commitB = 2 + (o.s3 ? 1 : 0);
  const commitA = 3 + 2 + (o.s3 ? 1 : 0);
  const T = shape.tasks ?? 0;
  return {
    r2ClassB: 2 + shape.kindReads + 2 * S + commitB + 4 * T + (o.s3 ? 2 * R + artifactCount : 0),
    r2ClassA: 1 + artifactPuts + (S - 1) + commitA + 2 * T + (o.s3 ? R - 1 : 0),
    queueMessages: S + T + (o.s3 ? R : 0),
    invocations: S + T + (o.s3 ? R : 0),
    s3Put: o.s3 ? artifactPuts + 1 : 0,
    s3List: o.s3 ? R + shape.dependencies : 0,
    replicationSteps: R,
  };
}
