// The CLI's bundle (the executable's asset hb.cjs): evaluated by main.cjs for every hb command but
// --version; its modules are evaluated when first imported, so a command pays for its own group.
import { main } from "hb:cli-main";

main();
