import crypto from 'node:crypto';

/**
 * Invented people and places for the demo dataset. Phone numbers come from Ofcom's range
 * reserved for drama (07700 900000 to 900999), so no real subscriber can be rung; street and
 * town names are made up. Names include non-ASCII letters so encryption and display are
 * exercised with real-world text.
 */

export interface DemoDepot {
  id: string;
  name: string;
  timezone: string;
  town: string;
  postcodeArea: string;
  /** Where the depot is (invented towns, real-looking English coordinates): stops are placed around it. */
  lat: number;
  lng: number;
}

const depots: readonly DemoDepot[] = [
  { id: 'depot-north', name: 'North Depot', timezone: 'Europe/London', town: 'Northfield', postcodeArea: 'NF', lat: 53.801, lng: -1.549 },
  { id: 'depot-south', name: 'South Depot', timezone: 'Europe/London', town: 'Southmere', postcodeArea: 'SM', lat: 50.909, lng: -1.404 },
  { id: 'depot-east', name: 'East Depot', timezone: 'Europe/London', town: 'Eastwick Vale', postcodeArea: 'EV', lat: 52.630, lng: 1.297 },
  { id: 'depot-west', name: 'West Depot', timezone: 'Europe/London', town: 'Westbury Cross', postcodeArea: 'WX', lat: 51.455, lng: -2.588 },
];

export function demoDepot(index: number): DemoDepot {
  const known = depots[index];
  if (known) return known;
  const n = index + 1;
  return { id: `depot-${n}`, name: `Depot ${n}`, timezone: 'Europe/London', town: `Newtown ${n}`, postcodeArea: 'NT', lat: 52.2 + n / 100, lng: -1.5 };
}

const firstNames = [
  'Amara', 'Ben', 'Chloé', 'Dev', 'Eilidh', 'Farah', 'Gareth', 'Hana', 'Idris', 'Jolanta', 'Kwame', 'Léa',
  'Malik', 'Niamh', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Siobhán', 'Tomasz', 'Uma', 'Viktor', 'Wen', 'Zoë',
];
const lastNames = [
  'Abernethy', 'Bramwell', 'Castellano', 'Dunmore', 'Eriksen', 'Fairclough', 'Goswami', 'Hartigan', 'Ibekwe',
  'Jovanović', 'Kettleby', 'Lindqvist', 'Marchetti', 'Nakamura', 'Okonkwo', 'Pemberton', 'Quayle', 'Rahman',
  'Silvermoor', 'Thistlewood', 'Underhill', 'Vasquez', 'Whitcombe', 'Yardley',
];
const streets = [
  'Larch Crescent', 'Foundry Lane', 'Quarry Hill Road', 'Mill Race Walk', 'Old Tannery Court', 'Kingfisher Way',
  'Beacon Rise', 'Orchard Row', 'Cobbler\u2019s Yard', 'Heron Close', 'Lantern Street', 'Saltmarsh Drive',
  'Weavers Terrace', 'Juniper Gardens', 'Copperbeech Avenue', 'Ferry Road',
];
const notes = [
  'Leave with the neighbour at number {n} if nobody answers.',
  'Side gate code {code}; parcel box behind the bins.',
  'Ring twice, the bell is faint. Dog is friendly.',
  'Deliver to reception before 4 pm, ask for {first}.',
  'Customer uses a wheelchair, please allow time at the door.',
  'Fragile: glassware. Do not leave outside.',
  'Flat {n} on the third floor, the lift is out of order.',
  'Call on arrival, the intercom is broken.',
  '',
];

const pick = <T,>(xs: readonly T[]): T => xs[crypto.randomInt(xs.length)]!;

export interface DemoCustomer {
  customerName: string;
  address: string;
  phone: string | null;
  notes: string;
}

/** One invented customer at a depot's town; about one in eight has no phone number. */
export function demoCustomer(depot: DemoDepot): DemoCustomer {
  const first = pick(firstNames);
  const house = 1 + crypto.randomInt(180);
  const postcode = `${depot.postcodeArea}${1 + crypto.randomInt(9)} ${crypto.randomInt(10)}${String.fromCharCode(65 + crypto.randomInt(26))}${String.fromCharCode(65 + crypto.randomInt(26))}`;
  const phone = crypto.randomInt(8) === 0 ? null : `+44 7700 900${String(crypto.randomInt(1000)).padStart(3, '0')}`;
  const note = pick(notes)
    .replace('{n}', String(1 + crypto.randomInt(60)))
    .replace('{code}', String(1000 + crypto.randomInt(9000)))
    .replace('{first}', first);
  return { customerName: `${first} ${pick(lastNames)}`, address: `${house} ${pick(streets)}, ${depot.town} ${postcode}`, phone, notes: note };
}

const driverNames = [
  'Alex Morgan', 'Sam Okafor', 'Jordan Reyes', 'Casey Lindholm', 'Robin Achterberg', 'Taylor Nwosu',
  'Jamie Castell', 'Morgan Szabo', 'Riley Ferreira', 'Charlie Dunleavy', 'Avery Kowalczyk', 'Drew Patel',
];

export const demoDriverName = (depotIndex: number, n: number) => driverNames[(depotIndex * 5 + n) % driverNames.length]!;

const vehicleModels = ['Transit Custom', 'Sprinter 314', 'e-Vito', 'Master ZE', 'Crafter 35'];

export function demoVehicle(depot: DemoDepot, n: number): { label: string; plate: string } {
  const letters = () => String.fromCharCode(65 + crypto.randomInt(26), 65 + crypto.randomInt(26), 65 + crypto.randomInt(26));
  return { label: `Van ${n + 1} (${vehicleModels[n % vehicleModels.length]!})`, plate: `${depot.postcodeArea}${70 + crypto.randomInt(5)} ${letters()}` };
}

/** Today's date in a time zone, as `YYYY-MM-DD` (routes are dated in the depot's zone). */
export function dateInZone(at: number, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The instant a local wall-clock time on a date happens in a zone (whole-hour precision of the offset is not assumed). */
export function zonedTime(date: string, hour: number, minute: number, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d, hour, minute);
  return guess - zoneOffsetMs(guess, timeZone);
}

function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - Math.floor(at / 1000) * 1000;
}

/** A stop's order in the demo: what a shop's order export would say (stop-order fields of `stop.create`). */
export interface DemoOrder {
  orderRef: string;
  parcelCount: number;
  barcodes: string[];
  coordinates: { lat: number; lng: number };
  email: string | null;
  minimumAge: number | null;
  idCheck: boolean;
  paymentRef: string | null;
  codAmount: number | null;
  deliveryFee: number;
  currency: 'GBP';
}

const emailSafe = (s: string) => s.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();

/**
 * The order of stop `n` (1-based across the depot's day) for a customer: parcels with labels,
 * coordinates within about 8 km of the depot, an email for most (example.com, never delivered),
 * a delivery fee in pence; about one in five collects cash on delivery, one in seven carries
 * age-restricted goods (18+, ID shown) and one in ten needs an ID check only.
 */
export function demoOrder(depot: DemoDepot, day: string, n: number, customerName: string): DemoOrder {
  const parcelCount = 1 + crypto.randomInt(4);
  const label = () => `JJD${String(crypto.randomInt(1e9)).padStart(9, '0')}${String(crypto.randomInt(1e6)).padStart(6, '0')}`;
  const barcodes = [...new Set(Array.from({ length: parcelCount }, label))];
  const [first = 'customer', last = 'x'] = customerName.split(' ');
  const ageRestricted = n % 7 === 3;
  const cod = n % 5 === 2;
  return {
    orderRef: `${depot.postcodeArea}-${day.replaceAll('-', '')}-${String(n).padStart(4, '0')}`,
    parcelCount: barcodes.length,
    barcodes,
    coordinates: {
      lat: Math.round((depot.lat + (crypto.randomInt(1400) - 700) / 10_000) * 1e6) / 1e6,
      lng: Math.round((depot.lng + (crypto.randomInt(2200) - 1100) / 10_000) * 1e6) / 1e6,
    },
    email: crypto.randomInt(10) < 7 ? `${emailSafe(first)}.${emailSafe(last)}${crypto.randomInt(100)}@example.com` : null,
    minimumAge: ageRestricted ? 18 : null,
    idCheck: ageRestricted || n % 10 === 5,
    paymentRef: `PAY-${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
    codAmount: cod ? 500 + crypto.randomInt(115) * 100 : null,
    deliveryFee: 399 + crypto.randomInt(4) * 100,
    currency: 'GBP',
  };
}
