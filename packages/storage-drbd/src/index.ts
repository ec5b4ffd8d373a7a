export { splitEventFields } from "./events2.js";
