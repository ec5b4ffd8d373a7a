export { describeFenceAction, type FenceActionDescription } from "./describe.js";
