import { MemoryFailureLimiter } from '../../shared/failure-limiter.js';
import { failureLimiterContract } from './failure-limiter-contract.js';

failureLimiterContract('memory', (clock) => MemoryFailureLimiter.factory(clock));
