import { z } from 'zod';

/** A program and its arguments; never a shell string (DESIGN principle 4). */
export const argvSchema = z.tuple([z.string().min(1, 'the program name must not be empty')], z.string());

export const pgUrlSchema = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection URL');
