/**
 * The Postgres targets the CLI accepts: connection URLs. node-postgres (withPgClient, which the
 * restore's emptiness check and the integrity checks use) parses URLs, not libpq's key=value
 * strings. Dependency-free, so the CLI checks its flags without loading pg.
 */
export const POSTGRES_URL = /^postgres(ql)?:\/\/.+/;
