/**
 * What a runbook tells others about its target (the main-server runbook tells upstream's
 * forwarder): whether the target is verified up.
 * While `isUp()` is false forwarding pauses; the change back to true resumes it at once.
 * Until the runbook knows (first probe not run yet), `isUp()` should answer true.
 */
export interface TargetGate {
  isUp(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe. */
  onChange(listener: (up: boolean) => void): () => void;
}
