/**
 * LOCAL WORLD. S3 error responses as S3 and R2 send them: an XML <Error> document with the code,
 * except for HEAD requests, which carry no body.
 * Source: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "S3Error";
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] as string);
}

export function errorXml(err: S3Error, resource: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
}

/** Shorthands for the errors the store answers most. */
export const accessDenied = (why: string) => new S3Error(403, "AccessDenied", `Access Denied (${why})`);
export const notImplemented = (what: string) => new S3Error(501, "NotImplemented", `A header or operation you provided implies functionality that is not implemented: ${what}`);
export const noSuchKey = () => new S3Error(404, "NoSuchKey", "The specified key does not exist.");
export const invalidRequest = (why: string) => new S3Error(400, "InvalidRequest", why);
