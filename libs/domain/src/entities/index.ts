import { ApiToken } from './api-token.entity';
import { Container } from './container.entity';
import { Host } from './host.entity';
import { Image } from './image.entity';
import { Network, NetworkEndpoint } from './network.entity';
import { Operation } from './operation.entity';
import { RegistryCredential } from './registry-credential.entity';
import { Team } from './team.entity';
import { Volume } from './volume.entity';

export * from './column-types';
export { ApiToken, Container, Host, Image, Operation, Network, NetworkEndpoint, RegistryCredential, Team, Volume };
export { FIRST_VNI } from './network.entity';
export { newContainer, type NewContainer } from './container.entity';
export * from './host.entity';
export * from './team.entity';

export const ENTITIES = [Team, ApiToken, Host, Container, Image, Operation, RegistryCredential, Volume, Network, NetworkEndpoint];
