import os

from setuptools import find_namespace_packages
from setuptools import setup


APP = [
    'waitress',
    'zope.app.appsetup',
    'zope.app.publication',
    'zope.app.wsgi',
    'zope.authentication',
    'zope.login',
    'zope.password',
    'zope.principalregistry',
    'zope.processlifetime',
    'zope.securitypolicy',
]


ZEO = ['ZEO']
RELSTORAGE = ['RelStorage[postgresql]']


def read(*names):
    with open(os.path.join(os.path.dirname(__file__), *names)) as f:
        return f.read()


setup(
    name='cybertools.tracking',
    version='2.0.0.dev0',
    description='User and interaction tracking storage for Zope applications',
    long_description=read('README.txt') + '\n\n' + read('CHANGES.txt'),
    long_description_content_type='text/x-rst',
    keywords='zope ztk zodb tracking btree',
    license='ZPL-2.1',
    classifiers=[
        'Development Status :: 3 - Alpha',
        'Framework :: ZODB',
        'Framework :: Zope :: 3',
        'Framework :: Zope :: 5',
        'Intended Audience :: Developers',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3 :: Only',
    ],
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['cybertools.*']),
    include_package_data=True,
    zip_safe=False,
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'BTrees',
        'tqdm',
        'persistent',
        'transaction',
        'ZODB',
        'zodburi',
        'zope.annotation',
        'zope.browserpage',
        'zope.component',
        'zope.configuration',
        'zope.container',
        'zope.event',
        'zope.interface',
        'zope.lifecycleevent',
        'zope.location',
        'zope.pagetemplate',
        'zope.publisher',
        'zope.schema',
        'zope.security',
        'zope.site',
        'zope.traversing',
    ],
    entry_points={
        'console_scripts': [
            'tracking = cybertools.tracking.cli:main',
        ],
    },
    extras_require={
        # a complete ZTK application: start-up, publication, principals,
        # grants, a WSGI server
        'app': APP,
        # databases on other machines (see database.py)
        'zeo': ZEO,
        'relstorage': RELSTORAGE,
        'test': APP + ZEO + RELSTORAGE + [
            'coverage',
            'selenium',
            'WSGIProxy2',
            'zope.testbrowser',
            'zope.testing',
            'zope.testrunner',
        ],
    },
)
