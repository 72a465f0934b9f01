// `mixed-crud` on students, as dmsload's `mixed-crud` workload (profiles/mixed-crud.toml):
// create/read/update/delete/query weighted 20/40/20/5/15, interleaved by smooth weighted
// round-robin over the scenario's iterations (not drawn at random); each VU reads, updates and
// deletes only the documents it created, creating one first when it owns none; updates are PUTs
// carrying `id` with `middleName` changed; a query by studentUniqueId must find the document.
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { DATA, apiErrors, arrivalOptions, createStudent, getToken, headers } from './dms_common.js';

export const options = arrivalOptions('mixed_crud');

const operations = new Counter('mixed_crud_operations');
const queryResponseTime = new Trend('query_response_time', true);
const WEIGHTS = [['create', 20], ['read', 40], ['update', 20], ['delete', 5], ['query', 15]];
// dmsload's VUs keep 2,000 documents together; k6 VUs share nothing: each keeps its 200 latest
const MAX_OWNED = 200;
const FIRST = ['Ava', 'Liam', 'Noah', 'Emma', 'Mia', 'Lucas', 'Sofia', 'Mateo', 'Amara', 'Kenji',
  'Priya', 'Omar', 'Chloe', 'Diego', 'Hana', 'Isaac', 'Leila', 'Marco', 'Nia', 'Theo'];

// One period of the smooth weighted round-robin (sum of weights = 100 picks), computed once.
function interleave() {
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const current = WEIGHTS.map(() => 0);
  const order = [];
  for (let n = 0; n < total; n += 1) {
    let best = 0;
    WEIGHTS.forEach(([, w], i) => {
      current[i] += w;
      if (current[i] > current[best]) best = i;
    });
    current[best] -= total;
    order.push(WEIGHTS[best][0]);
  }
  return order;
}
const ORDER = interleave();
const owned = [];

function failed(res, operation) {
  apiErrors.add(1, { resource: 'students', operation, status: String(res.status) });
}

function create(data) {
  const entity = createStudent(data);
  if (entity === null) return false;
  if (owned.length >= MAX_OWNED) owned.shift();
  owned.push(entity);
  return true;
}

function read(data, entity) {
  const res = http.get(`${DATA}/students/${entity.id}`, {
    headers: headers(data),
    tags: { name: 'GET /ed-fi/students/{id}', resource: 'students', operation: 'read' },
  });
  if (!check(res, { 'read students: status is 200': (r) => r.status === 200 })) failed(res, 'read');
}

function update(data, entity) {
  const current = entity.document.middleName;
  const choices = FIRST.filter((name) => name !== current);
  const document = Object.assign({}, entity.document, {
    middleName: choices[Math.floor(Math.random() * choices.length)],
  });
  const res = http.put(`${DATA}/students/${entity.id}`,
    JSON.stringify(Object.assign({ id: entity.id }, document)), {
      headers: headers(data),
      tags: { name: 'PUT /ed-fi/students/{id}', resource: 'students', operation: 'update' },
    });
  if (check(res, { 'update students: status is 204': (r) => r.status === 204 })) {
    entity.document = document;
  } else {
    failed(res, 'update');
  }
}

function remove(data, entity) {
  const res = http.del(`${DATA}/students/${entity.id}`, null, {
    headers: headers(data),
    tags: { name: 'DELETE /ed-fi/students/{id}', resource: 'students', operation: 'delete' },
  });
  if (!check(res, { 'delete students: status is 204': (r) => r.status === 204 })) {
    failed(res, 'delete');
  }
}

function query(data) {
  let url = `${DATA}/students?limit=25`;
  let name = 'GET /ed-fi/students?limit';
  if (owned.length > 0) {
    const entity = owned[Math.floor(Math.random() * owned.length)];
    url = `${DATA}/students?studentUniqueId=${encodeURIComponent(entity.document.studentUniqueId)}`;
    name = 'GET /ed-fi/students?studentUniqueId';
  }
  const res = http.get(url, {
    headers: headers(data),
    tags: { name, resource: 'students', operation: 'query' },
  });
  if (!check(res, { 'query students: status is 200': (r) => r.status === 200 })) {
    failed(res, 'query');
    return;
  }
  queryResponseTime.add(res.timings.duration, { query: 'mixed-crud' });
  if (owned.length > 0) {
    let found = false;
    try {
      const body = res.json();
      found = Array.isArray(body) ? body.length > 0 : Boolean(body);
    } catch (e) {
      found = false;
    }
    check(found, { "query students: finds the VU's document": (f) => f });
  }
}

export function setup() {
  return getToken();
}

export default function (data) {
  const operation = ORDER[exec.scenario.iterationInTest % ORDER.length];
  operations.add(1, { operation });
  if (operation === 'create') {
    create(data);
    return;
  }
  if (operation === 'query') {
    query(data);
    return;
  }
  if (owned.length === 0 && !create(data)) return;
  const index = Math.floor(Math.random() * owned.length);
  if (operation === 'read') read(data, owned[index]);
  else if (operation === 'update') update(data, owned[index]);
  else remove(data, owned.splice(index, 1)[0]);
}
