import http from 'k6/http';
import { check, group, sleep } from 'k6';
export const options = {
  scenarios: { smoke: { executor: 'constant-vus', vus: 2, duration: '2s' } },
  thresholds: {
    http_req_duration: ['p(95)<5000', 'avg<0.001'],
    'http_req_duration{name:list}': ['max<5000'],
    http_req_failed: ['rate<0.9'],
    checks: ['rate>0.5'],
  },
};
export default function () {
  group('students', function () {
    const r = http.get('http://127.0.0.1:PORT/data/students', { tags: { name: 'list' } });
    check(r, { 'status is 200': (x) => x.status === 200 });
  });
  const r2 = http.get('http://127.0.0.1:PORT/x?status=404');
  check(r2, { 'is 404': (x) => x.status === 404, 'never': (x) => x.status === 200 });
  sleep(0.1);
}
