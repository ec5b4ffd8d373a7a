// Moved to @hb/testkit; these names stay only until apps/daemon's tests import the kit directly.
export { DRBD_FIXTURES as FIXTURES, makeFakeDrbdsetup, type FakeDrbdsetup } from "@hb/testkit";
