/**
 * Readiness checks as components contribute them to the API's /readyz (api/routes/health.ts).
 * A check fails by throwing; only a ReadinessProblem's message is shown on the public endpoint (it is
 * written for operators and carries no addresses or secrets); any other error is logged and hidden.
 */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export class ReadinessProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadinessProblem';
  }
}
