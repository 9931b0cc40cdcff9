import type { PostalAddressCheck } from '../../engine/register/register-records';
import { postalAddressProblems } from './postal-address';

/** The letter channel's postal address check, as the register's import applies it to each record (CLI and API alike). */
export function registerAddressCheck(cityName: { ja: string; en: string }): PostalAddressCheck {
  return (input) => postalAddressProblems(input, { cityNames: [cityName.ja, cityName.en] });
}
