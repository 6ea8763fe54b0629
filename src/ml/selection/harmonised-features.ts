/**
 * The features every NASA mission can be mapped to (cross-mission evaluation), apart from cross-mission.ts so that
 * the checker of stored run details can name them without loading the models.
 */
export const HARMONISED_FEATURES = [
  'period_days',
  'transit_duration_hours',
  'transit_depth_ppm',
  'planet_radius_earth',
  'insolation_earth',
  'equilibrium_temperature_k',
  'stellar_teff_k',
  'stellar_logg_cgs',
  'stellar_radius_solar',
] as const;
