/** The authenticated caller of a request or socket, after the access token and session checks. */
export interface Principal {
  userId: string;
  username: string;
  displayName: string;
  sessionId: string;
  deviceId: string;
  /** When the access token presented expires (ms); a socket is cut off then unless renewed. */
  accessExpiresAt: number;
}
