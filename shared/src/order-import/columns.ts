import { z } from 'zod';

/**
 * The order fields an import can fill, and which column of the file fills each. The mapping is
 * the user's (suggested from the header, then corrected and remembered per depot); the
 * validator reads only mapped columns.
 */
export const importFields = [
  'orderRef', 'customerName', 'address', 'lat', 'lng', 'phone', 'email', 'notes', 'windowStart', 'windowEnd',
  'parcelCount', 'barcodes', 'minAge', 'idCheck', 'pinRequired', 'routeName', 'routeId', 'paymentRef', 'amount', 'fee', 'currency',
] as const;
export const ImportField = z.enum(importFields);
export type ImportField = z.infer<typeof ImportField>;

interface FieldSpec {
  label: string;
  /** Header spellings suggested for this field, compared without case, spaces or punctuation. */
  aliases: readonly string[];
}

export const importFieldSpecs: { readonly [F in ImportField]: FieldSpec } = {
  orderRef: { label: 'Order reference', aliases: ['orderref', 'orderreference', 'order', 'orderid', 'ordernumber', 'orderno', 'reference', 'ref', 'externalid', 'bestellnummer'] },
  customerName: { label: 'Customer name', aliases: ['customername', 'customer', 'name', 'recipient', 'recipientname', 'consignee', 'kunde'] },
  address: { label: 'Address', aliases: ['address', 'deliveryaddress', 'street', 'streetaddress', 'fulladdress', 'adresse'] },
  lat: { label: 'Latitude', aliases: ['lat', 'latitude'] },
  lng: { label: 'Longitude', aliases: ['lng', 'lon', 'long', 'longitude'] },
  phone: { label: 'Phone', aliases: ['phone', 'phonenumber', 'telephone', 'tel', 'mobile', 'customerphone'] },
  email: { label: 'Email', aliases: ['email', 'emailaddress', 'mail', 'customeremail'] },
  notes: { label: 'Delivery notes', aliases: ['notes', 'note', 'deliverynotes', 'instructions', 'deliveryinstructions', 'comment', 'comments'] },
  windowStart: { label: 'Window start', aliases: ['windowstart', 'from', 'start', 'earliest', 'timefrom', 'deliverfrom', 'slotstart'] },
  windowEnd: { label: 'Window end', aliases: ['windowend', 'to', 'end', 'latest', 'timeto', 'deliverby', 'slotend'] },
  parcelCount: { label: 'Parcel count', aliases: ['parcelcount', 'parcels', 'packages', 'pieces', 'count', 'quantity', 'qty'] },
  barcodes: { label: 'Barcodes', aliases: ['barcodes', 'barcode', 'parcelbarcodes', 'trackingnumbers', 'labels'] },
  minAge: { label: 'Age check (minimum age)', aliases: ['minage', 'minimumage', 'agecheck', 'age', 'agerestriction'] },
  idCheck: { label: 'ID check', aliases: ['idcheck', 'checkid', 'identitycheck', 'idrequired'] },
  pinRequired: { label: 'Delivery PIN required', aliases: ['pinrequired', 'deliverypin', 'requirepin', 'pincode', 'pin'] },
  routeName: { label: 'Route name', aliases: ['routename', 'route', 'tour', 'run'] },
  routeId: { label: 'Route id', aliases: ['routeid'] },
  paymentRef: { label: 'Payment reference', aliases: ['paymentref', 'paymentreference', 'invoice', 'invoicenumber', 'paymentid'] },
  amount: { label: 'Amount to collect', aliases: ['amount', 'amounttocollect', 'cod', 'cashondelivery', 'collect', 'total'] },
  fee: { label: 'Delivery fee', aliases: ['fee', 'deliveryfee', 'shippingfee', 'charge'] },
  currency: { label: 'Currency', aliases: ['currency', 'currencycode', 'ccy'] },
};

/** Fields only holders of `stop.readBilling` may import. */
export const billingImportFields: readonly ImportField[] = ['paymentRef', 'amount', 'fee', 'currency'];

/** Fields every row needs; a mapping without them is refused before any row is read. */
export const requiredImportFields: readonly ImportField[] = ['orderRef', 'customerName', 'address'];

/** Field -> the header text of the column that fills it. Unmapped fields are absent. */
export const ColumnMapping = z.partialRecord(ImportField, z.string().min(1).max(200));
export type ColumnMapping = z.infer<typeof ColumnMapping>;

const normalized = (header: string) => header.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The mapping to offer for a header: the remembered mapping where its columns are still in the
 * file, then each field whose alias matches a column no other field took. Each column fills one
 * field at most.
 */
export function suggestColumnMapping(header: readonly string[], remembered: ColumnMapping = {}): ColumnMapping {
  const mapping: ColumnMapping = {};
  const taken = new Set<string>();
  for (const field of importFields) {
    const column = remembered[field];
    if (column !== undefined && header.includes(column) && !taken.has(column)) {
      mapping[field] = column;
      taken.add(column);
    }
  }
  const byKey = new Map<string, string>();
  for (const h of header) if (h.trim() && !byKey.has(normalized(h))) byKey.set(normalized(h), h);
  // Two passes: a field's first alias (its own name) before any field's looser ones, so
  // "route id" is the route id even though "route" alone would suggest the route name.
  for (const exact of [true, false]) {
    for (const field of importFields) {
      if (mapping[field] !== undefined) continue;
      const aliases = exact ? importFieldSpecs[field].aliases.slice(0, 1) : importFieldSpecs[field].aliases;
      for (const alias of aliases) {
        const column = byKey.get(alias);
        if (column !== undefined && !taken.has(column)) {
          mapping[field] = column;
          taken.add(column);
          break;
        }
      }
    }
  }
  return mapping;
}

/** What is wrong with a mapping for this header, in words; empty when it can be used. */
export function mappingProblems(header: readonly string[], mapping: ColumnMapping): string[] {
  const problems: string[] = [];
  for (const field of requiredImportFields) {
    if (mapping[field] === undefined) problems.push(`No column is chosen for "${importFieldSpecs[field].label}", which every order needs.`);
  }
  if (mapping.routeName === undefined && mapping.routeId === undefined) {
    problems.push('No column is chosen for the route: choose "Route name" (new names create routes) or "Route id".');
  }
  if ((mapping.lat === undefined) !== (mapping.lng === undefined)) problems.push('Latitude and longitude go together: choose both columns or neither.');
  const used = new Map<string, ImportField>();
  for (const field of importFields) {
    const column = mapping[field];
    if (column === undefined) continue;
    if (!header.includes(column)) problems.push(`The column "${column}" chosen for "${importFieldSpecs[field].label}" is not in this file.`);
    const other = used.get(column);
    if (other) problems.push(`The column "${column}" is chosen for both "${importFieldSpecs[other].label}" and "${importFieldSpecs[field].label}".`);
    used.set(column, field);
  }
  return problems;
}
