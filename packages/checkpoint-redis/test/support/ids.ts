import { assertId } from "@waypoint/checkpoint/backend";

/** What the shared id rule accepts (ids and namespaces alike): the keys tests generate only these. */
export function isId(value: string): boolean {
  try {
    assertId(value, "id");
    return true;
  } catch {
    return false;
  }
}
