import type { Provider } from "@pragma/provider-sdk";
import { pragmaProvider } from "./pragma";
import { postgresProvider } from "./postgres";
import { mysqlProvider } from "./mysql";

export const builtInProviders: Provider[] = [pragmaProvider, postgresProvider, mysqlProvider];
