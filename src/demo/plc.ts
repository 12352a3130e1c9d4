// A simulated PLC for the demo reactor: Modbus-style registers that the controller writes (by the
// write address of a parameter row) and readings of every parameter that move plausibly over
// simulated time. Pure and deterministic (seeded noise); the demo's controller drives it.
//
// The physics, deliberately simple:
//  - heaters: first-order lag toward the setpoint while powered (toward ambient when not), with
//    ±0.05 °C reading noise; the PID output is a holding term plus kp × error, clamped to 0–100 %;
//  - mass-flow controller: the flow follows its setpoint with a lag of about a third of its ramp
//    time, but only while the purge valve gives the gas a path into the chamber;
//  - chamber pressure: pumped toward base + k × gas inflow while the pump runs and the gate valve is
//    open (so it rises during purges and pumps down after them); a precursor pulse doses gas for
//    its duration; the foreline follows the chamber; venting goes toward atmosphere;
//  - valves and other setpoints read back what was written (open = 1, closed = 0).
import type { Reading } from '../sdk/recorder-ticks.ts';
import type { ModbusRegisterType, Parameter } from '../sdk/types.ts';

/** Which component plays which part. The defaults are the seed's ALD Reactor A. */
export interface ReactorLayout {
  mfc: string;
  /** The valve between the MFC and the chamber: purges open it. */
  purgeValve: string;
  /** Valves whose pulses dose precursor into the chamber. */
  precursorValves: string[];
  ventValve: string;
  gateValve: string;
  pump: string;
  chamberGauge: string;
  forelineGauge: string;
  nitrogenGenerator: string;
}

export const REACTOR_A_LAYOUT: ReactorLayout = {
  mfc: 'carrier_gas_mfc',
  purgeValve: 'valve_5',
  precursorValves: ['valve_1', 'valve_2', 'valve_3', 'valve_4'],
  ventValve: 'valve_6',
  gateValve: 'gate_valve',
  pump: 'vacuum_pump',
  chamberGauge: 'chamber_pressure_gauge',
  forelineGauge: 'foreline_pressure_gauge',
  nitrogenGenerator: 'nitrogen_generator',
};

export interface Component {
  id: string;
  name: string;
  component_type: string;
}

export interface Register {
  type: ModbusRegisterType;
  address: number;
}

/** A heater counts as settled when its temperature is this close to the setpoint. */
export const SETTLE_TOLERANCE_C = 1;

const AMBIENT_C = 22;
const ATMOSPHERE_PA = 101_325;
const BASE_PRESSURE_PA = 1.5;
/** Steady-state chamber pressure per sccm of inflow at full pumping speed. */
const PA_PER_SCCM = 1.2;
/** Chamber volume over pumping speed. */
const PUMP_DOWN_TAU_S = 1.0;
/** Gas a precursor valve lets in while open, as an equivalent flow. */
const DOSE_SCCM = 1500;
/** Integration step: inputs are constant between writes, the coupled states are not. */
const SUBSTEP_MS = 50;
/** Heater lag per heater; others get DEFAULT_HEATER_TAU_S. */
const HEATER_TAU_S: Record<string, number> = {
  chamber_heater: 15, substrate_heater: 20, lid_heater: 15, foreline_heater: 8, trap_heater: 10,
};
const DEFAULT_HEATER_TAU_S = 6;

/** Lagged approach of `value` to `target` over dt seconds with time constant tau (exact for a constant target). */
const lag = (value: number, target: number, dtS: number, tauS: number) => target + (value - target) * Math.exp(-dtS / tauS);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const registerKey = (type: string, address: number) => `${type}:${address}`;

/** mulberry32 with Box–Muller: reproducible noise. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export class SimulatedPlc {
  private readonly parameters: Parameter[];
  private readonly componentOf = new Map<string, Component>();
  /** `component/parameter` → id */
  private readonly ids = new Map<string, string>();
  /** Writable parameters by write register. */
  private readonly byRegister = new Map<string, Parameter>();
  /** Setpoints and coils as the PLC holds them, by parameter id. */
  private readonly registers = new Map<string, number>();
  private readonly heaters = new Map<string, { temperature: number; tauS: number; maxC: number }>();
  private readonly noise: () => number;
  private timeMs = 0;
  private mfcFlow = 0;
  private mfcTotal = 0;
  private chamberPa = BASE_PRESSURE_PA;
  private forelinePa = 0.8;

  constructor(parameters: readonly Parameter[], components: readonly Component[], readonly layout: ReactorLayout = REACTOR_A_LAYOUT, seed = 1) {
    this.noise = gaussian(seed);
    const byId = new Map(components.map((c) => [c.id, c]));
    this.parameters = [...parameters];
    for (const p of this.parameters) {
      const component = byId.get(p.component_id);
      if (!component) throw new Error(`parameter ${p.id} (${p.name}) belongs to component ${p.component_id}, which is not in the component list`);
      this.componentOf.set(p.id, component);
      this.ids.set(`${component.name}/${p.name}`, p.id);
      if (p.is_writable && p.write_modbus_type && p.write_modbus_address !== null) {
        this.byRegister.set(registerKey(p.write_modbus_type, p.write_modbus_address), p);
        // What the PLC holds: the last value it confirmed, else the desired one (a fresh database).
        this.registers.set(p.id, p.applied_value ?? p.set_value ?? 0);
      }
    }
    for (const c of components) {
      if (c.component_type !== 'heater') continue;
      // The machine idles at its setpoints: each heater starts where it is set.
      const setpoint = this.parameters.find((p) => p.id === this.ids.get(`${c.name}/temperature_set`));
      this.heaters.set(c.name, {
        temperature: this.setpoint(c.name, 'temperature_set') ?? AMBIENT_C,
        tauS: HEATER_TAU_S[c.name] ?? DEFAULT_HEATER_TAU_S,
        maxC: setpoint?.max_value ?? 400,
      });
    }
  }

  /** Simulated time since the PLC was created, in ms. */
  get now(): number {
    return this.timeMs;
  }

  /** The id of `component/parameter`, e.g. `valve_1/state`; throws when there is none. */
  parameterId(path: string): string {
    const id = this.ids.get(path);
    if (!id) throw new Error(`the reactor has no parameter ${path}`);
    return id;
  }

  /** Writes a register (a holding register value, or a coil as 0/1), as Modbus would. */
  write(register: Register, value: number): void {
    const p = this.byRegister.get(registerKey(register.type, register.address));
    if (!p) throw new Error(`no writable parameter at ${register.type} ${register.address}`);
    if (!Number.isFinite(value)) throw new Error(`${register.type} ${register.address} must be written a finite number, but got: ${value}`);
    if (register.type === 'coil' && value !== 0 && value !== 1) throw new Error(`coil ${register.address} must be written 0 or 1, but got: ${value}`);
    // The PLC's own interlock: the pump keeps running while the gate valve is open (the chamber is
    // under vacuum). The demo asks for exactly this once, to show a request the PLC refuses.
    const component = this.componentOf.get(p.id)?.name;
    if (component === this.layout.pump && p.name === 'power_on' && value === 0 && this.on(this.layout.gateValve, 'state')) {
      throw new Error(`PLC interlock: ${component}.power_on stays 1 while ${this.layout.gateValve} is open`);
    }
    this.registers.set(p.id, value);
  }

  /** The value a register holds now. */
  readRegister(register: Register): number | undefined {
    const p = this.byRegister.get(registerKey(register.type, register.address));
    return p ? this.registers.get(p.id) : undefined;
  }

  /**
   * Whether the device behind this register has reached what it was set to: a heater's
   * temperature within SETTLE_TOLERANCE_C of its setpoint; anything else at once.
   */
  settled(register: Register): boolean {
    const heater = this.heaterBehind(register);
    if (!heater) return true;
    const target = this.setpoint(heater, 'temperature_set') ?? AMBIENT_C;
    return Math.abs(this.heaters.get(heater)!.temperature - target) <= SETTLE_TOLERANCE_C;
  }

  /** The name of the component a parameter belongs to. */
  componentName(parameterId: string): string | undefined {
    return this.componentOf.get(parameterId)?.name;
  }

  /** The heater whose temperature setpoint this register is, if it is one. */
  heaterBehind(register: Register): string | undefined {
    const p = this.byRegister.get(registerKey(register.type, register.address));
    if (!p || p.name !== 'temperature_set') return undefined;
    const name = this.componentOf.get(p.id)!.name;
    return this.heaters.has(name) ? name : undefined;
  }

  /** The true temperature of a heater (no reading noise). */
  temperature(heater: string): number | undefined {
    return this.heaters.get(heater)?.temperature;
  }

  /** Lets `ms` of simulated time pass with the registers as they are. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`advance must be called with a duration in ms of 0 or more, but got: ${ms}`);
    let left = ms;
    while (left > 0) {
      const step = Math.min(SUBSTEP_MS, left);
      this.integrate(step / 1000);
      left -= step;
      this.timeMs += step;
    }
  }

  /** One reading of every parameter, as the controller hands it to the recorder. */
  read(): Reading[] {
    return this.parameters.map((p) => {
      const component = this.componentOf.get(p.id)!;
      const { value, setPoint } = this.reading(component, p);
      const v = value === null ? null : p.data_type === 'float' ? value : Math.round(value);
      return setPoint === undefined ? { parameterId: p.id, value: v } : { parameterId: p.id, value: v, setPoint };
    });
  }

  private setpoint(component: string, name: string): number | undefined {
    const id = this.ids.get(`${component}/${name}`);
    return id === undefined ? undefined : this.registers.get(id);
  }

  private on(component: string, name: string): boolean {
    return this.setpoint(component, name) === 1;
  }

  /** The MFC's flow target: its setpoint while powered, controlling and given a path. */
  private mfcTarget(): number {
    const { mfc, purgeValve } = this.layout;
    if (!this.on(purgeValve, 'state') || !this.on(mfc, 'power_on')) return 0;
    const override = this.setpoint(mfc, 'valve_override') ?? 0;
    if (override === 1) return 0;
    if (override === 2) return 500;
    return Math.max(0, this.setpoint(mfc, 'flow_rate_set') ?? 0);
  }

  private integrate(dtS: number): void {
    for (const [name, h] of this.heaters) {
      const target = this.on(name, 'power_on') ? this.setpoint(name, 'temperature_set') ?? AMBIENT_C : AMBIENT_C;
      h.temperature = lag(h.temperature, target, dtS, this.on(name, 'power_on') ? h.tauS : 3 * h.tauS);
    }

    const { mfc, precursorValves, ventValve, gateValve, pump } = this.layout;
    const rampS = (this.setpoint(mfc, 'ramp_time') ?? 500) / 1000;
    this.mfcFlow = lag(this.mfcFlow, this.mfcTarget(), dtS, Math.max(0.05, rampS / 3));
    this.mfcTotal += (this.mfcFlow * dtS) / 60;

    const inflow = this.mfcFlow + precursorValves.filter((v) => this.on(v, 'state')).length * DOSE_SCCM;
    const pumping = this.on(pump, 'power_on') && this.on(gateValve, 'state');
    if (this.on(ventValve, 'state')) {
      this.chamberPa = lag(this.chamberPa, ATMOSPHERE_PA, dtS, 3);
    } else if (pumping) {
      this.chamberPa = lag(this.chamberPa, BASE_PRESSURE_PA + PA_PER_SCCM * inflow, dtS, PUMP_DOWN_TAU_S);
    } else {
      // Isolated chamber: gas in plus a small leak, no way out.
      this.chamberPa = Math.min(ATMOSPHERE_PA, this.chamberPa + (0.05 + (PA_PER_SCCM * inflow) / PUMP_DOWN_TAU_S) * dtS);
    }
    const forelineTarget = this.on(pump, 'power_on') ? 0.8 + (this.on(gateValve, 'state') ? 0.05 * this.chamberPa : 0) : ATMOSPHERE_PA;
    this.forelinePa = lag(this.forelinePa, forelineTarget, dtS, this.on(pump, 'power_on') ? 0.5 : 60);
  }

  private reading(component: Component, p: Parameter): { value: number | null; setPoint?: number | null } {
    const readback = this.registers.get(p.id);
    if (p.is_writable) return { value: readback ?? null };
    const c = component.name;
    const n = this.noise;
    switch (component.component_type) {
      case 'heater': {
        const h = this.heaters.get(c)!;
        const set = this.setpoint(c, 'temperature_set') ?? AMBIENT_C;
        if (p.name === 'temperature_read') return { value: h.temperature + 0.05 * n(), setPoint: set };
        if (p.name === 'pid_output') {
          if (!this.on(c, 'power_on')) return { value: 0 };
          // Holding a temperature takes power in proportion to its rise over ambient: half at the heater's maximum.
          const hold = (100 * (h.temperature - AMBIENT_C)) / (2 * h.maxC);
          return { value: clamp(hold + (this.setpoint(c, 'kp') ?? 1) * (set - h.temperature), 0, 100) };
        }
        break;
      }
      case 'mass_flow_controller': {
        const set = this.setpoint(c, 'flow_rate_set') ?? 0;
        if (p.name === 'flow_rate_read') return { value: Math.max(0, this.mfcFlow + 0.002 * this.mfcFlow * n()), setPoint: this.mfcTarget() > 0 ? set : 0 };
        if (p.name === 'valve_position_read') return { value: clamp((this.mfcFlow / 500) * 100 * (this.setpoint(c, 'gas_correction_factor') ?? 1), 0, 100) };
        if (p.name === 'flow_total_read') return { value: this.mfcTotal };
        break;
      }
      case 'nitrogen_generator': {
        const running = this.on(c, 'running');
        const flow = running ? 0.6 + this.mfcFlow / 1000 : 0;
        if (p.name === 'flow_read') return { value: Math.max(0, flow + 0.01 * n()) };
        if (p.name === 'outlet_pressure_read') return { value: running ? 750 - 15 * flow + 0.5 * n() : 101.3 };
        if (p.name === 'purity_read') return { value: clamp((this.setpoint(c, 'purity_set') ?? 99.99) - 0.003 * flow + 0.001 * n(), 90, 100) };
        if (p.name === 'alarm_active') return { value: 0 };
        if (p.name === 'operating_hours_read') return { value: 4210 + Math.floor(this.timeMs / 3_600_000) };
        break;
      }
      case 'pressure_gauge': {
        const powered = this.on(c, 'power_on');
        if (p.name === 'sensor_ok') return { value: powered ? 1 : 0 };
        if (p.name === 'pressure_read') {
          const pa = c === this.layout.forelineGauge ? this.forelinePa : this.chamberPa;
          return { value: powered ? Math.max(0, pa * (1 + 0.005 * n())) : null, setPoint: this.setpoint(c, 'pressure_setpoint') ?? null };
        }
        break;
      }
    }
    // A reading this model does not simulate: the PLC has none.
    return { value: null };
  }
}
