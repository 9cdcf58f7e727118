import type { SyncRecords } from '../records/index.js';
import type { HandlerResult } from './types.js';

/** Every handler that learns "customer X is user Y" goes through here, so the outcome and warning read the same everywhere. */
export async function linkCustomerToUser(
  records: SyncRecords,
  customerId: string,
  userId: string,
  linkedBy: string,
): Promise<HandlerResult> {
  const result = await records.linkCustomer(customerId, userId, linkedBy);
  if (result.link) {
    // Linked all the same: the user may be created later (a seller's own sign-in creates users on first sight).
    const known = await records.userExists(userId);
    return known
      ? { outcome: `customer ${customerId} linked to user ${userId}` }
      : {
          outcome: `customer ${customerId} linked to user ${userId}, not known yet`,
          warning: `customer ${customerId} linked to unknown user ${userId} (event ${linkedBy})`,
        };
  }
  return {
    outcome: `link of customer ${customerId} ignored: it already belongs to another user`,
    warning: `conflicting link ignored: customer ${customerId} belongs to user ${result.existingUserId}, event ${linkedBy} names user ${userId}`,
  };
}
