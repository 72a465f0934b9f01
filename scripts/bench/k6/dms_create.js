// `create` on students, as dmsload's `create` workload: one POST per iteration, 201 checked.
import { arrivalOptions, createStudent, getToken } from './dms_common.js';

export const options = arrivalOptions('create');

export function setup() {
  return getToken();
}

export default function (data) {
  createStudent(data);
}
