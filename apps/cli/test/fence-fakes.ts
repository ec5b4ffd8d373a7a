// Moved to @hb/testkit; these names stay only until apps/daemon's tests import the kit directly.
export { fenceHost, type FenceHost } from "@hb/testkit";
