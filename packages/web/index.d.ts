/** The built dashboard (`vite build`), which the server serves at `/`. */
export declare const webDir: string;
