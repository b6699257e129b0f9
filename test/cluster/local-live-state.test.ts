/** One node's live state (in this process) keeps the contracts a cluster's keeps. */
import { LocalPresence } from '../../gateway/devices/presence.js';
import { LocalEventBus } from '../../gateway/events.js';
import { eventBusContract, presenceContract } from './live-state-contract.js';

const done = async () => undefined;
eventBusContract('in process', async () => ({ bus: new LocalEventBus(), done }));
presenceContract('in process', async () => ({ presence: new LocalPresence(), done }));
