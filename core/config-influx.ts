/**
 * Which InfluxDB the platform uses, from the INFLUX_* variables (validated in core/config.ts):
 * - v2 API backend (InfluxDB 2.x, 3.x, Cloud): INFLUX_URL + INFLUX_TOKEN + INFLUX_ORG + INFLUX_BUCKET;
 * - 1.x backend: INFLUX_URL, with INFLUX_USERNAME/INFLUX_PASSWORD when the server has auth on;
 * - neither: the managed local influxd under DATA_DIR/influxdb.
 * A combination that fits none of these is a configuration error naming the variables involved.
 */

interface RawInflux {
  INFLUX_URL?: string | undefined;
  INFLUX_DATABASE?: string | undefined;
  INFLUXD_PATH: string;
  INFLUX_MANAGED_PORT?: number | undefined;
  INFLUX_USERNAME?: string | undefined;
  INFLUX_PASSWORD?: string | undefined;
  INFLUX_TOKEN?: string | undefined;
  INFLUX_ORG?: string | undefined;
  INFLUX_BUCKET?: string | undefined;
}

interface InfluxCommon {
  /** 1.x: the database written and queried. v2: the InfluxQL database name (DBRP) of the bucket. */
  database: string;
  /** The binary of the managed server (used only by the managed backend). */
  influxdPath: string;
}
export interface ManagedInfluxConfig extends InfluxCommon {
  backend: 'managed';
  /** Unset: the platform runs its own influxd under DATA_DIR/influxdb. */
  url: undefined;
  /**
   * INFLUX_MANAGED_PORT: the managed influxd's HTTP port. Unset: the port this DATA_DIR used last,
   * else 8086, else a free one, remembered (core/influx/managed-port.ts). 0: a new free port each start.
   */
  managedPort: number | undefined;
}
export interface V1InfluxConfig extends InfluxCommon {
  backend: 'v1';
  url: string;
  username: string | undefined;
  password: string | undefined;
}
export interface V2InfluxConfig extends InfluxCommon {
  backend: 'v2';
  url: string;
  token: string;
  org: string;
  bucket: string;
}
export type InfluxConfig = ManagedInfluxConfig | V1InfluxConfig | V2InfluxConfig;

export const DEFAULT_INFLUX_DATABASE = 'telemetry';

const V2_VARS = ['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const;
const V1_VARS = ['INFLUX_USERNAME', 'INFLUX_PASSWORD'] as const;

export interface InfluxProblem {
  variable: string;
  message: string;
}

/** Every wrong combination of INFLUX_* variables, each naming the variable to fix. */
export function influxCombinationProblems(r: RawInflux): InfluxProblem[] {
  const problems: InfluxProblem[] = [];
  if (r.INFLUX_MANAGED_PORT !== undefined && r.INFLUX_URL !== undefined)
    problems.push({
      variable: 'INFLUX_MANAGED_PORT',
      message:
        'only for the managed influxd (INFLUX_URL unset); with INFLUX_URL the port is in the URL: remove it',
    });
  const v2Set = V2_VARS.filter((v) => r[v] !== undefined);
  const v1Set = V1_VARS.filter((v) => r[v] !== undefined);
  if (v2Set.length > 0) {
    const given = v2Set.join(', ');
    for (const v of V2_VARS) {
      if (r[v] === undefined)
        problems.push({
          variable: v,
          message: `required with ${given} (the v2 API backend needs all three)`,
        });
    }
    if (r.INFLUX_URL === undefined)
      problems.push({ variable: 'INFLUX_URL', message: `required with ${given}: the InfluxDB 2.x/3.x URL` });
    for (const v of v1Set)
      problems.push({
        variable: v,
        message: `not used with ${given} (the v2 API backend authenticates with INFLUX_TOKEN): remove it`,
      });
    return problems;
  }
  if (v1Set.length > 0) {
    if (r.INFLUX_URL === undefined)
      problems.push({
        variable: 'INFLUX_URL',
        message: `required with ${v1Set.join(', ')}; without INFLUX_URL the managed influxd uses its own generated users`,
      });
    if (r.INFLUX_USERNAME === undefined)
      problems.push({ variable: 'INFLUX_USERNAME', message: 'required with INFLUX_PASSWORD' });
    if (r.INFLUX_PASSWORD === undefined)
      problems.push({ variable: 'INFLUX_PASSWORD', message: 'required with INFLUX_USERNAME' });
    if (r.INFLUX_URL !== undefined && hasUserInfo(r.INFLUX_URL))
      problems.push({
        variable: 'INFLUX_USERNAME',
        message: 'credentials given twice: INFLUX_URL already has user:password@; keep one of the two',
      });
  }
  return problems;
}

function hasUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** The validated variables as the backend they select (call only when there are no problems). */
export function influxConfigFrom(r: RawInflux): InfluxConfig {
  const influxdPath = r.INFLUXD_PATH;
  if (r.INFLUX_URL === undefined) {
    return {
      backend: 'managed',
      url: undefined,
      managedPort: r.INFLUX_MANAGED_PORT,
      database: r.INFLUX_DATABASE ?? DEFAULT_INFLUX_DATABASE,
      influxdPath,
    };
  }
  if (r.INFLUX_TOKEN !== undefined && r.INFLUX_ORG !== undefined && r.INFLUX_BUCKET !== undefined) {
    return {
      backend: 'v2',
      url: r.INFLUX_URL,
      token: r.INFLUX_TOKEN,
      org: r.INFLUX_ORG,
      bucket: r.INFLUX_BUCKET,
      // InfluxDB 2.x maps every bucket to a database of the same name (DBRP); 3.x has no other name.
      database: r.INFLUX_DATABASE ?? r.INFLUX_BUCKET,
      influxdPath,
    };
  }
  return {
    backend: 'v1',
    url: r.INFLUX_URL,
    username: r.INFLUX_USERNAME,
    password: r.INFLUX_PASSWORD,
    database: r.INFLUX_DATABASE ?? DEFAULT_INFLUX_DATABASE,
    influxdPath,
  };
}
