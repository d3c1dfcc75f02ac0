export { WaypointSaver, type WaypointSaverOptions } from "./waypoint-saver.js";
