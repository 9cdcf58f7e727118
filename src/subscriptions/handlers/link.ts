import type { SyncRecords } from '../repository.js';
import type { HandlerResult } from './types.js';

/** Every handler that learns "customer X is user Y" goes through here, so the first-link-wins rule lives once. */
export async function linkCustomerToUser(
  repo: SyncRecords,
  customerId: string,
  userId: string,
  linkedBy: string,
): Promise<HandlerResult> {
  const result = await repo.linkCustomer(customerId, userId, linkedBy);
  if (result.linked) {
    // Linked all the same: the user may be created later (a seller's own sign-in creates users on first sight).
    const known = await repo.userExists(userId);
    return known
      ? { outcome: `customer ${customerId} linked to user ${userId}` }
      : { outcome: `customer ${customerId} linked to user ${userId}, not known yet`, warning: `customer ${customerId} linked to unknown user ${userId} (event ${linkedBy})` };
  }
  return {
    outcome: `link of customer ${customerId} ignored: it already belongs to another user`,
    warning: `conflicting link ignored: customer ${customerId} belongs to user ${result.existingUserId}, event ${linkedBy} names user ${userId}`,
  };
}
