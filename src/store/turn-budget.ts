// A byte budget per turn of the event loop: work that could run for a long time in one go (a tail
// lookup over a large log, many log pumps feeding sockets) stops once the turn's budget is spent and
// goes on at the next turn, after I/O — so every other client is served in between.

/** One shared budget: every user of the same instance spends from it. */
export class TurnBudget {
  readonly bytesPerTurn: number;
  private spent = 0;
  private resetQueued = false;

  constructor(bytesPerTurn: number) {
    this.bytesPerTurn = bytesPerTurn;
  }

  /** True once this turn's budget is used up. */
  get exhausted(): boolean {
    return this.spent >= this.bytesPerTurn;
  }

  /** Counts bytes against this turn's budget; the count restarts on the next turn. */
  spend(bytes: number): void {
    this.spent += bytes;
    if (!this.resetQueued) {
      this.resetQueued = true;
      setImmediate(() => {
        this.spent = 0;
        this.resetQueued = false;
      });
    }
  }

  /** Resolves at once while there is budget, else on the first later turn that has some. */
  async available(): Promise<void> {
    while (this.exhausted) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
