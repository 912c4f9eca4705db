"""sod.tech"""
