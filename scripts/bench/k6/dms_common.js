// What both DMS k6 scripts share: the options, the token, the student document, the requests.
//
// Written as the Ed-Fi performance strategy's k6 scripts do it: setup() gets one bearer token
// from the target's OAuth endpoint (client credentials, HTTP Basic), each iteration builds its
// JSON document in JavaScript, sends it with k6/http, parses the Location header and judges the
// status with check(). The request names, check names and custom metrics are those of dmsload's
// DMS workloads (src/dmsload/dms/calls.py, workloads/create.py, workloads/mixed_crud.py), so the
// two tools do the same work per request. Parameters come from the environment (k6 -e):
// BASE (the sandbox's base URL), KEY, SECRET, RATE (iterations/s), DURATION ("20s"), VUS.
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

export const BASE = __ENV.BASE || 'http://127.0.0.1:8080';
export const DATA = `${BASE}/data/ed-fi`;
const RATE = parseInt(__ENV.RATE || '200', 10);
const VUS = parseInt(__ENV.VUS || '50', 10);

export function arrivalOptions(name) {
  return {
    scenarios: {
      [name]: {
        executor: 'constant-arrival-rate',
        rate: RATE,
        timeUnit: '1s',
        duration: __ENV.DURATION || '20s',
        preAllocatedVUs: VUS,
        maxVUs: VUS * 2,
      },
    },
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  };
}

export const entityCreationTime = new Trend('entity_creation_time', true);
export const studentsCreated = new Counter('students_created');
export const apiErrors = new Counter('api_errors');

const FIRST = ['Ava', 'Liam', 'Noah', 'Emma', 'Mia', 'Lucas', 'Sofia', 'Mateo', 'Amara', 'Kenji',
  'Priya', 'Omar', 'Chloe', 'Diego', 'Hana', 'Isaac', 'Leila', 'Marco', 'Nia', 'Theo'];
const LAST = ['Garcia', 'Smith', 'Nguyen', 'Johnson', 'Okafor', 'Kim', 'Patel', 'Brown', 'Lopez',
  'Cohen', 'Silva', 'Novak', 'Haddad', 'Moreau', 'Tanaka', 'Olsen', 'Reyes', 'Walker', 'Singh',
  'Young'];
const CITIES = ['Austin', 'Denver', 'Madison', 'Raleigh', 'Tucson', 'Boise', 'Salem', 'Dover'];
const BIRTH_FIRST = Date.UTC(2005, 0, 1);
const DAY_MS = 86400000;

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// setup(): one token for every VU (dmsload shares one token the same way), and a run id.
export function getToken() {
  const basic = encoding.b64encode(`${__ENV.KEY || 'minimalKey'}:${__ENV.SECRET || 'minimalSecret'}`);
  const res = http.post(`${BASE}/oauth/token`, { grant_type: 'client_credentials' }, {
    headers: { Authorization: `Basic ${basic}` },
    tags: { name: 'POST /oauth/token' },
  });
  if (!check(res, { 'token: status is 200': (r) => r.status === 200 })) {
    throw new Error(`token request answered ${res.status}`);
  }
  const runId = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return { token: res.json('access_token'), runId };
}

export function headers(data) {
  return { Authorization: `Bearer ${data.token}`, 'Content-Type': 'application/json' };
}

let sequence = 0;

// A new student, as dmsload's DataGenerator.student(): unique id, names, birth date, city.
export function student(data) {
  sequence += 1;
  const birth = new Date(BIRTH_FIRST + Math.floor(Math.random() * 4018) * DAY_MS);
  return {
    studentUniqueId: `S-${data.runId}-0-${__VU}-${sequence}`,
    firstName: pick(FIRST),
    lastSurname: pick(LAST),
    birthDate: birth.toISOString().slice(0, 10),
    birthCity: pick(CITIES),
  };
}

// POST one student; check 201; the id from the Location header, or null.
export function createStudent(data) {
  const document = student(data);
  const res = http.post(`${DATA}/students`, JSON.stringify(document), {
    headers: headers(data),
    tags: { name: 'POST /ed-fi/students', resource: 'students', operation: 'create' },
  });
  const created = check(res, { 'create students: status is 201': (r) => r.status === 201 });
  if (!created) {
    apiErrors.add(1, { resource: 'students', operation: 'create', status: String(res.status) });
    return null;
  }
  entityCreationTime.add(res.timings.duration, { resource: 'students' });
  studentsCreated.add(1, { resource: 'students' });
  const location = res.headers.Location || '';
  const id = location.replace(/\/+$/, '').split('/').pop();
  return { id, document };
}
