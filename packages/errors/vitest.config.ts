import { hbProject } from "@hb/vitest-config";

export default hbProject("@hb/errors");
