/**
 * Connection URLs with credentials: the user and password percent-encoded, so a password given in
 * jarvis:secrets may hold any of @ : / ? # % (a generated one is alphanumeric, and unchanged).
 */
export function credentialUrl(
  scheme: "postgresql" | "redis",
  user: string,
  password: string,
  host: string,
  port: number,
  path?: string,
): string {
  const auth = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `${scheme}://${auth}@${host}:${port}${path === undefined ? "" : `/${path}`}`;
}
