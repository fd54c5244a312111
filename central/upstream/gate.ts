/**
 * What the main-server runbook tells the forwarder: whether the main server is verified up.
 * While `isUp()` is false forwarding pauses; the change back to true resumes it at once.
 * Until the runbook knows (first probe not run yet), `isUp()` should answer true.
 */
export interface UpstreamGate {
  isUp(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe. */
  onChange(listener: (up: boolean) => void): () => void;
}
