// The entry point of the bundle and of the single executables.
import { main } from './main.ts';

void main(process.argv);
